package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/repo"
)

type initOptions struct {
	Recipients     []string
	RecipientsFile string
}

func (o *initOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.Recipients, "age-recipient", nil, "encrypt data to this age `public key` (age1…; repeatable)")
	fs.StringVar(&o.RecipientsFile, "age-recipients-file", "", "encrypt data to the age public keys in this `file`, one per line")
}

func newInitCommand(g *globalOptions) *cobra.Command {
	var opts initOptions
	cmd := &cobra.Command{
		Use:   "init --repo URL [--age-recipient age1…]",
		Short: "Create a repository, optionally encrypted with age",
		Long: `Write a repository's configuration (config.json). It is written once and never
changes. Without one, a repository is unencrypted; backup creates local ones
on first use.

With --age-recipient (or --age-recipients-file), every snapshot data object
and journal event is encrypted on the client with age (https://age-encryption.org)
to those public keys before it leaves the machine: whoever holds the bucket
but none of the matching identities sees no user data. Manifests stay
readable (pool id, times, counts, checksums; no user data) so that snapshots,
forget and prune work without a key. Writing needs only the public keys: give
backup jobs and the Lambda no identity. Reading (verify, diff, restore,
journal compact) needs one: --age-identity FILE or COGVAULT_AGE_IDENTITY.
Keep the identity file out of the bucket's account: losing it loses the
backups.

Make a key pair with age-keygen (https://github.com/FiloSottile/age):
  age-keygen -o cogvault.key     # prints the public key: age1…

EXIT STATUS
  0  the repository was initialised
  1  it could not be written, or it is already initialised
  2  bad flags (an invalid recipient)`,
		Example: `  cogvault init --repo s3://my-backups/cognito --age-recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  cogvault backup --repo s3://my-backups/cognito --pool us-east-1_AbC123
  cogvault verify --repo s3://my-backups/cognito --age-identity ~/.config/cogvault.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runInit(ctx context.Context, opts initOptions, g *globalOptions) error {
	recipients := opts.Recipients
	if opts.RecipientsFile != "" {
		b, err := os.ReadFile(opts.RecipientsFile)
		if err != nil {
			return usageError("--age-recipients-file: %v", err)
		}
		recipients = append(recipients, strings.Split(string(b), "\n")...)
	}
	cfg := repo.Config{Encryption: repo.EncryptionNone}
	var keys []string
	for _, r := range recipients {
		if r = strings.TrimSpace(r); r != "" && !strings.HasPrefix(r, "#") {
			keys = append(keys, r)
		}
	}
	if len(keys) > 0 {
		cfg = repo.Config{Encryption: repo.EncryptionAge, Recipients: keys}
	}
	r, err := g.createRepo(ctx, "")
	if err != nil {
		return err
	}
	if err := repo.Init(ctx, r.Store, cfg); err != nil {
		if strings.Contains(err.Error(), "age encryption needs valid recipients") {
			return withCode(ExitUsage, err)
		}
		return err
	}
	if g.json() {
		return printJSON(g.stdout, cfg)
	}
	if cfg.Encryption == repo.EncryptionAge {
		fmt.Fprintf(g.stdout, "initialised %s: data and journal encrypted with age to %d recipient(s)\n", g.Repo, len(keys))
		return nil
	}
	fmt.Fprintf(g.stdout, "initialised %s: unencrypted\n", g.Repo)
	return nil
}
