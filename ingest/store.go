package ingest

import (
	"context"

	"github.com/hcztmm/warehouse/warehouse"
)

// Store is what ingest needs of the warehouse; *warehouse.DB satisfies it. It is an
// interface so that ingest builds and its decoding tests run without DuckDB, and so that
// ingest cannot reach any other part of the warehouse.
type Store interface {
	// Commit stores scored submissions and returns one Outcome per submission, in the
	// order given. With atomic, either no outcome is StatusRejected or nothing was stored;
	// without it, each submission is its own unit. An error means the store failed as a
	// whole (nothing of this call is stored) and stops the ingest. Commit must not keep
	// subs after it returns: ingest reuses the slice for the next chunk.
	Commit(ctx context.Context, subs []warehouse.ScoredSubmission, atomic bool) ([]warehouse.Outcome, error)
	// Organisation returns the stored profile of an organisation, for CSV-long files that
	// carry no profile columns. An unknown organisation is a *model.Error of KindNotFound.
	Organisation(ctx context.Context, orgID string) (warehouse.Organisation, error)
}
