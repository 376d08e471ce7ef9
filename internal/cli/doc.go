// Package cli is cogvault's command line: the only importer of cobra. Each
// command lives in its own file as a constructor, an options struct that
// registers its flags, and a runX(ctx, opts, globals, args) function that
// does the work through the core packages.
package cli
