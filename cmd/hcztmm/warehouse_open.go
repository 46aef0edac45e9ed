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

// withWarehouse opens the warehouse for one command, runs fn and closes it, reporting a
// failed close (which drains the writer) when fn itself succeeded.
func (a *app) withWarehouse(ctx context.Context, path string, fn func(*warehouse.DB) error) error {
	db, err := a.openWarehouse(ctx, path)
	if err != nil {
		return err
	}
	err = fn(db)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close warehouse: %w", cerr)
	}
	return err
}
