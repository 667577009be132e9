package main

import (
	"context"
	"io"
)

// runLoad is being written.
func runLoad(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return usageError{"load: not built yet"}
}
