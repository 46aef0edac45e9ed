package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hcztmm/warehouse/warehouse"
)

// openWarehouse opens (creating if needed) the DuckDB file, making its directory first
// so that the default ./data/ path works on a fresh clone.
func (a *app) openWarehouse(ctx context.Context, path string) (*warehouse.DB, error) {
	if path == "" {
		return nil, usageError("--db must not be empty")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	db, err := warehouse.Open(ctx, path, a.models, warehouse.Options{})
	if err != nil {
		return nil, fmt.Errorf("open warehouse %s: %w", path, err)
	}
	return db, nil
}
