package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Run is Main for a process: SIGINT (Ctrl-C) and SIGTERM (docker stop,
// kill, systemd) both end the context, so fake-cognito shuts down cleanly
// and a backup or restore stops as interrupted either way.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Main(ctx, args, stdin, stdout, stderr)
}
