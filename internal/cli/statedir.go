package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cogvault/cogvault/internal/storage"
)

// stateDirHelp is the --state-dir flag's help, shared by restore and clone.
const stateDirHelp = "private `directory` for the restore's side files (state, sub mapping, id map), created mode 0700 (default: $XDG_STATE_HOME/cogvault, else ~/.local/state/cogvault)"

// stateDir returns the directory for a run's side files, creating it mode
// 0700: flag when given, else $XDG_STATE_HOME/cogvault, else
// $HOME/.local/state/cogvault. The side files pair usernames with
// identifiers, so they never land in the current directory (a restore run
// inside a git checkout once left them there). The XDG Base Directory
// Specification defines the default and says a relative XDG_STATE_HOME is
// invalid and to be ignored.
func stateDir(getenv func(string) string, flag string) (string, error) {
	dir := flag
	if dir == "" {
		base := getenv("XDG_STATE_HOME")
		if !filepath.IsAbs(base) {
			home := getenv("HOME")
			if home == "" {
				h, err := os.UserHomeDir()
				if err != nil {
					return "", usageError("no state directory: HOME and XDG_STATE_HOME are unset; give --state-dir")
				}
				home = h
			}
			base = filepath.Join(home, ".local", "state")
		}
		dir = filepath.Join(base, "cogvault")
	}
	if err := makePrivateDir(dir, flag == ""); err != nil {
		return "", err
	}
	return dir, nil
}

// makePrivateDir creates dir mode 0700. tighten also makes an existing
// directory 0700: the default directory is cogvault's own, while a
// --state-dir the user chose keeps the mode they gave it.
func makePrivateDir(dir string, tighten bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory %s: %w (give --state-dir)", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return usageError("state directory %s is not a directory: give --state-dir", dir)
	}
	if tighten && fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil && !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("state directory %s: %w", dir, err)
		}
	}
	return nil
}

// prepareSideFiles makes the state directory and checks the side files
// named on the command line, before any write: a run that cannot keep its
// state is refused, not left half done.
func (o *restoreOptions) prepareSideFiles(getenv func(string) string) error {
	if o.DryRun {
		return nil // writes nothing
	}
	dir, err := stateDir(getenv, o.StateDir)
	if err != nil {
		return err
	}
	o.StateDir = dir
	return checkSideFiles(append(mappingFiles(o.MappingFile), o.StateFile, o.IDMapFile)...)
}

// sidePaths returns the state file and the sub mapping's base of the
// restore of snapshot id into o.To, checked. The default names derive from
// both, so the same command run again finds its state file.
func (o *restoreOptions) sidePaths(id string) (state, mapping string, err error) {
	base := fmt.Sprintf("cogvault-restore-%s-%s", o.To, id)
	state = sidePath(o.StateDir, o.StateFile, base+".state")
	mapping = sidePath(o.StateDir, o.MappingFile, base+".subs")
	if !o.DryRun {
		err = checkSideFiles(append(mappingFiles(mapping), state)...)
	}
	return state, mapping, err
}

// sidePath is where a side file goes: the explicit flag value as given
// (it wins), else name in the state directory.
func sidePath(dir, flag, name string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(dir, name)
}

// checkSideFiles refuses, before the run's first write, a side file path
// that is a symbolic link or not a regular file; "" is skipped.
func checkSideFiles(paths ...string) error {
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := storage.CheckPrivatePath(p); err != nil {
			return usageError("%v", err)
		}
	}
	return nil
}

// mappingFiles are the files of the sub mapping base, or none for "".
func mappingFiles(base string) []string {
	if base == "" {
		return nil
	}
	return []string{base + ".csv", base + ".json"}
}

// writeFile0600 writes v as indented JSON, readable by its owner only
// (storage.WritePrivate: also when the file existed, never through a link).
func writeFile0600(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := storage.WritePrivate(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
