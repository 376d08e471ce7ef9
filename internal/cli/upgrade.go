package cli

import (
	"context"

	"github.com/cogvault/cogvault/internal/storage"
)

func runUpgrade(ctx context.Context, g *globalOptions, store storage.Store) error {
	return usageError("--upgrade is not implemented yet")
}
