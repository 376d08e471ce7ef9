package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/sign"
)

type keyGenerateOptions struct {
	Signing bool
	File    string
}

func (o *keyGenerateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Signing, "signing", false, "make an Ed25519 signing key instead of an age identity")
	fs.StringVarP(&o.File, "file", "f", "", "write the key to this `file` (default: a new file under $XDG_CONFIG_HOME/cogvault/keys/); never replaces one")
}

func newKeyCommand(g *globalOptions) *cobra.Command {
	key := &cobra.Command{
		Use:   "key",
		Short: "Make keys: age identities and signing keys",
		Args:  cobra.NoArgs,
	}
	var opts keyGenerateOptions
	gen := &cobra.Command{
		Use:   "generate [--signing] [--file FILE]",
		Short: "Make an age identity, or (--signing) an Ed25519 signing key",
		Long: `Write a new private key to a file, mode 0600 (its directory 0700), and print
its public half on stdout. It never replaces a file.

Without --signing: an age identity (AGE-SECRET-KEY-1…); give its recipient
(age1…) to 'cogvault init --age-recipient' and the file to readers as
--age-identity. With --signing: an Ed25519 signing key (PKCS#8 PEM); give
the file to 'cogvault init --signing-key' and writers, and its public key
(ed25519:…) to readers as --repo-key.

EXIT STATUS
  0  the key was written
  1  it could not be written (the file exists)
  2  bad flags`,
		Example: `  cogvault key generate --file ~/.config/cogvault/backup.agekey
  cogvault key generate --signing --file ./ci-signing.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeyGenerate(opts, g)
		},
	}
	opts.AddFlags(gen.Flags())
	key.AddCommand(gen)
	return key
}

func runKeyGenerate(opts keyGenerateOptions, g *globalOptions) error {
	path := opts.File
	if path == "" {
		dir, err := sign.ConfigDir(g.getenv)
		if err != nil {
			return err
		}
		var b [4]byte
		rand.Read(b[:])
		kind := map[bool]string{true: "signing", false: "age"}[opts.Signing]
		path = filepath.Join(dir, "keys", fmt.Sprintf("%s-%s-%s.key", kind, time.Now().UTC().Format("20060102T150405Z"), hex.EncodeToString(b[:])))
	}
	var public string
	if opts.Signing {
		s, err := sign.GenerateKeyFile(path)
		if err != nil {
			return err
		}
		public = sign.FormatPublicKey(s.Public())
	} else {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return err
		}
		public = id.Recipient().String()
		body := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), public, id)
		if err := sign.WriteNewFile(path, []byte(body)); err != nil {
			return fmt.Errorf("write age identity %s: %w", path, err)
		}
	}
	if g.json() {
		return printJSON(g.stdout, map[string]string{"file": path, "publicKey": public})
	}
	fmt.Fprintf(g.stderr, "cogvault: wrote %s\n", path)
	fmt.Fprintln(g.stdout, public)
	return nil
}
