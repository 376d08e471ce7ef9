package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/crypt"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/storage"
)

type initOptions struct {
	Recipients     []string
	RecipientsFile string
	NoSigning      bool
	Upgrade        bool
}

func (o *initOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.Recipients, "age-recipient", nil, "encrypt data to this age `public key` (age1…; repeatable)")
	fs.StringVar(&o.RecipientsFile, "age-recipients-file", "", "encrypt data to the age public keys in this `file`, one per line")
	fs.BoolVar(&o.NoSigning, "no-signing", false, "do not sign the repository (readers then warn that anyone who can write to it can change what a restore creates)")
	fs.BoolVar(&o.Upgrade, "upgrade", false, "sign an existing unsigned repository in place, after checking every snapshot")
}

func newInitCommand(g *globalOptions) *cobra.Command {
	var opts initOptions
	cmd := &cobra.Command{
		Use:   "init --repo URL [--age-recipient age1…] [--signing-key FILE|kms:ARN | --no-signing]",
		Short: "Create a signed repository, optionally encrypted with age",
		Long: `Write a repository's configuration (config.json). It is written once and never
changes. A repository without one is initialised, unencrypted and signed, by
its first backup.

The repository is signed: config.json, every manifest and every journal
event carry an Ed25519 signature, and readers (verify, restore, diff,
restore --at) refuse an object that is unsigned or signed by another key,
so whoever can write to the bucket cannot make a restore create users.
Without --signing-key, init creates a key file under
$XDG_CONFIG_HOME/cogvault/keys/ (or ~/.config/cogvault/keys/), mode 0600,
records the repository and its public key in the trust store
($XDG_CONFIG_HOME/cogvault/trust.json), and prints the public key. Writers
on this machine then find the key, and readers the public key, with no flag.
Elsewhere, give readers --repo-key (or COGVAULT_REPO_KEY) and writers
--signing-key (or COGVAULT_SIGNING_KEY): a key file, or kms:KEY_ARN for an
AWS KMS key of key spec ECC_NIST_EDWARDS25519. A reader with neither records
the key config.json names on first use, like SSH's known_hosts, and refuses
a change later. --no-signing opts out; readers then warn.

--upgrade signs a repository made by an earlier cogvault (unsigned, or with
no config.json at all) in place: it checks every snapshot first (an
encrypted repository needs --age-identity) and stops at the first damage.

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
  1  it could not be written, it is already initialised, or (--upgrade) a
     snapshot is damaged
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
	cfg, err := opts.config()
	if err != nil {
		return err
	}
	if opts.NoSigning && (g.SigningKey != "" || opts.Upgrade) {
		return usageError("--no-signing cannot go with --signing-key or --upgrade")
	}
	if opts.Upgrade && cfg.Encryption != repo.EncryptionNone {
		return usageError("--upgrade keeps the repository's encryption: give no --age-recipient")
	}
	store, err := g.openStore(ctx, storage.Options{MustExist: opts.Upgrade})
	if err != nil {
		return err
	}
	if opts.Upgrade {
		return runUpgrade(ctx, g, store)
	}
	pub, keyRef, err := g.initialise(ctx, store, cfg, opts.NoSigning)
	if err != nil {
		if strings.Contains(err.Error(), "age encryption needs valid recipients") {
			return withCode(ExitUsage, err)
		}
		return err
	}
	if g.json() {
		return printJSON(g.stdout, map[string]any{"encryption": cfg.Encryption, "recipients": cfg.Recipients, "signed": pub != "", "publicKey": pub, "signingKey": keyRef})
	}
	what := "unencrypted"
	if cfg.Encryption == repo.EncryptionAge {
		what = fmt.Sprintf("data and journal encrypted with age to %d recipient(s)", len(cfg.Recipients))
	}
	if pub == "" {
		fmt.Fprintf(g.stdout, "initialised %s: %s, NOT signed\n", g.Repo, what)
		return nil
	}
	fmt.Fprintf(g.stdout, "initialised %s: %s, signed\npublic key: %s\nsigning key: %s\n", g.Repo, what, pub, keyRef)
	fmt.Fprintf(g.stdout, "give readers elsewhere --repo-key %s (or COGVAULT_REPO_KEY)\n", pub)
	return nil
}

// config is the configuration the flags ask for.
func (o *initOptions) config() (repo.Config, error) {
	recipients := o.Recipients
	if o.RecipientsFile != "" {
		b, err := os.ReadFile(o.RecipientsFile)
		if err != nil {
			return repo.Config{}, usageError("--age-recipients-file: %v", err)
		}
		recipients = append(recipients, strings.Split(string(b), "\n")...)
	}
	var keys []string
	for _, r := range recipients {
		if r = strings.TrimSpace(r); r != "" && !strings.HasPrefix(r, "#") {
			keys = append(keys, r)
		}
	}
	if len(keys) == 0 {
		return repo.Config{Encryption: repo.EncryptionNone}, nil
	}
	if _, err := crypt.ParseRecipients(keys...); err != nil {
		return repo.Config{}, usageError("age encryption needs valid recipients: %v", err)
	}
	return repo.Config{Encryption: repo.EncryptionAge, Recipients: keys}, nil
}
