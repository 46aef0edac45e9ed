package api

import (
	"context"

	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// OwnOrgReader reads one organisation's private data. Handlers never call it directly:
// they go through an orgScope bound to the authenticated key's organisation (scope.go),
// which is what makes reading another organisation's rows impossible by construction.
type OwnOrgReader interface {
	Organisation(ctx context.Context, orgID string) (warehouse.Organisation, error)
	CurrentSubmission(ctx context.Context, orgID, cycleID string) (*warehouse.StoredSubmission, error)
	ListSubmissions(ctx context.Context, orgID string) ([]warehouse.SubmissionSummary, error)
	GetSubmission(ctx context.Context, id int64) (*warehouse.StoredSubmission, error)
}

// ReleaseReader reads stored releases and budgets: the only source of figures about more
// than one organisation the API serves.
type ReleaseReader interface {
	ListReleases(ctx context.Context, cycle string) ([]warehouse.ReleaseInfo, error)
	GetRelease(ctx context.Context, id string) (warehouse.ReleaseInfo, error)
	ReleaseBody(ctx context.Context, id string) ([]byte, error)
	Budget(ctx context.Context, cycle string) (warehouse.Budget, error)
}

// CycleStore reads and manages assessment cycles.
type CycleStore interface {
	ListCycles(ctx context.Context) ([]warehouse.Cycle, error)
	GetCycle(ctx context.Context, id string) (warehouse.Cycle, error)
	CreateCycle(ctx context.Context, c warehouse.Cycle) error
	CloseCycle(ctx context.Context, id string) error
}

// KeyStore mints, authenticates and revokes API keys.
type KeyStore interface {
	CreateKey(ctx context.Context, role warehouse.Role, orgID, label string) (warehouse.APIKey, string, error)
	LookupKey(ctx context.Context, token string) (warehouse.APIKey, error)
	GetKey(ctx context.Context, id string) (warehouse.APIKey, error)
	RevokeKey(ctx context.Context, id string) (warehouse.APIKey, error)
	ListKeys(ctx context.Context) ([]warehouse.APIKey, error)
}

// AuditStore appends to and reads the audit log.
type AuditStore interface {
	RecordAudit(ctx context.Context, e warehouse.AuditEntry) error
	ListAudit(ctx context.Context, limit int) ([]warehouse.AuditEntry, error)
}

// Warehouse is everything the API needs of the warehouse; *warehouse.DB satisfies it.
// ingest.Store is used only through an orgGuard that admits the key's own organisation,
// and privacy.Store (which reads every organisation's scores) only by privacy.Publish,
// whose output is the noised release.
type Warehouse interface {
	OwnOrgReader
	ReleaseReader
	ReleaseExporter
	CycleStore
	KeyStore
	AuditStore
	ingest.Store
	privacy.Store
	// Stats feeds the writer's counters to /metrics.
	Stats() warehouse.Stats
	// MemoryUsage feeds DuckDB's own memory accounting to /metrics.
	MemoryUsage(ctx context.Context) (inMemory, spilled int64, err error)
}

var _ Warehouse = (*warehouse.DB)(nil)
