package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cogvault/cogvault/internal/pitr"
)

func newJournalCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "List, compact and replay the change journal the Lambda capture writes",
		Long: `The journal holds one event per change the capture Lambda saw: the state of a
user (or group) read right after the change, or its deletion. 'cogvault
restore --at TIME' rolls the newest snapshot finished by TIME forward with the
events up to TIME. 'cogvault journal replay' re-drives the change events that
failed capture from the Lambda's dead-letter queue. See docs/format.md for the
layout.`,
	}
	cmd.AddCommand(newJournalListCommand(g), newJournalCompactCommand(g), newJournalReplayCommand(g))
	return cmd
}

// parseTime reads a --at/--since style time: RFC 3339, or a UTC date.
func parseTime(flag, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usageError("%s %q: want a time such as 2026-11-24T10:00:00Z (RFC 3339) or a UTC date 2026-11-24", flag, s)
}

func newJournalListCommand(g *globalOptions) *cobra.Command {
	var pool, since, until string
	cmd := &cobra.Command{
		Use:   "list --repo URL [--pool POOL_ID] [--since TIME] [--until TIME]",
		Short: "List journal events: time, kind, subject (sub or group), source",
		Long: `List a pool's journal events, oldest first. Only identifiers are printed (the
user's sub, a group's name), never attribute values.

--pool is needed when the repository holds snapshots of more than one pool.

EXIT STATUS
  0  listed (possibly none)
  1  the journal could not be read, or an event is damaged
  2  bad flags, or no --pool in a repository of several pools (the error
     lists them)`,
		Example: `  cogvault journal list --repo s3://my-backups/cognito --pool us-east-1_AbC123 --since 2026-11-24`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var from, to time.Time
			var err error
			if since != "" {
				if from, err = parseTime("--since", since); err != nil {
					return err
				}
				from = from.Add(-time.Nanosecond) // inclusive
			}
			to = time.Now().UTC().Add(24 * time.Hour)
			if until != "" {
				if to, err = parseTime("--until", until); err != nil {
					return err
				}
			}
			r, err := g.openRepo(ctx, "")
			if err != nil {
				return err
			}
			p, err := poolOf(ctx, r, pool)
			if err != nil {
				return err
			}
			type row struct {
				Time    time.Time `json:"time"`
				Kind    string    `json:"kind"`
				Subject string    `json:"subject"`
				Source  string    `json:"source"`
				Key     string    `json:"key"`
			}
			rows := []row{}
			for ent, err := range r.Journal(ctx, p, from, to) {
				if err != nil {
					return err
				}
				e := ent.Event
				subject := e.Sub
				switch {
				case e.Group != nil:
					subject = "group " + e.Group.Name
				case e.User != nil:
					subject = e.User.Sub
				}
				rows = append(rows, row{e.Time, e.Kind, subject, e.Source, ent.Key})
			}
			if g.json() {
				return printJSON(g.stdout, rows)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME (UTC)\tKIND\tSUBJECT\tSOURCE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Time.Format("2006-01-02 15:04:05.000"), r.Kind, r.Subject, r.Source)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&pool, "pool", "", "the pool whose journal to list (default: the repository's only pool; needed when it holds several)")
	cmd.Flags().StringVar(&since, "since", "", "only events at or after this time (RFC 3339 or a UTC date)")
	cmd.Flags().StringVar(&until, "until", "", "only events at or before this time")
	return cmd
}

func newJournalCompactCommand(g *globalOptions) *cobra.Command {
	var pool, at string
	cmd := &cobra.Command{
		Use:   "compact --repo URL [--pool POOL_ID] [--at TIME]",
		Short: "Fold journal events into a new snapshot of the pool's state at a time",
		Long: `Compute the pool's state at --at (default: now) from the newest snapshot
finished by then plus the journal events up to then, and store it as a new
snapshot, marked as derived (its manifest names the base snapshot and the
number of events). Restores from later points start from it, and older
snapshots can be forgotten; 'cogvault prune' then removes the events no
restore can use any more. Nothing is read from Cognito. --pool is needed when
the repository holds snapshots of more than one pool.

EXIT STATUS
  0  the snapshot was written
  1  the repository could not be read or written, or an event is damaged
  2  bad flags, no snapshot to start from, or no --pool in a repository of
     several pools (the error lists them)`,
		Example: `  cogvault journal compact --repo s3://my-backups/cognito --pool us-east-1_AbC123`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t := time.Now().UTC()
			if at != "" {
				var err error
				if t, err = parseTime("--at", at); err != nil {
					return err
				}
			}
			r, err := g.openRepo(ctx, "")
			if err != nil {
				return err
			}
			p, err := poolOf(ctx, r, pool)
			if err != nil {
				return err
			}
			pt, err := pitr.At(ctx, r, p, t)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			m, err := pt.Write(ctx, r, r.Store, pitr.Options{ToolVersion: Version()})
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, m)
			}
			printPoint(g, pt)
			fmt.Fprintf(g.stdout, "snapshot %s written: %d users, %d groups, %d memberships\n", m.ID, m.Counts.Users, m.Counts.Groups, m.Counts.Memberships)
			return nil
		},
	}
	cmd.Flags().StringVar(&pool, "pool", "", "the pool to compact (default: the repository's only pool; needed when it holds several)")
	cmd.Flags().StringVar(&at, "at", "", "the time whose state to store (RFC 3339 or a UTC date; default now)")
	return cmd
}

func printPoint(g *globalOptions, pt *pitr.Point) {
	fmt.Fprintf(g.stdout, "state of %s at %s: snapshot %s (finished %s) + %d journal event(s) touching %d user(s) and %d group(s)\n",
		pt.PoolID, pt.At.Format(time.RFC3339Nano), pt.Base.ID, pt.Base.End.UTC().Format(time.RFC3339), pt.Events, pt.Users(), pt.Groups())
}
