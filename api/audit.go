package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// Bounds of GET /audit?limit=.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// listAudit returns the newest audit entries first (admins only: entries name
// organisations and keys).
func (s *Server) listAudit(c *gin.Context) {
	limit := defaultAuditLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditLimit {
			writeError(c, model.Invalid("limit is out of range", model.FieldError{Field: "limit", Rule: "out_of_range", Value: truncate(v),
				Message: fmt.Sprintf("limit must be a whole number from 1 to %d", maxAuditLimit)}))
			return
		}
		limit = n
	}
	entries, err := s.wh.ListAudit(c.Request.Context(), limit)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"entries": entries})
}

// audit records an action after it succeeded. The action has happened whatever becomes
// of the record, so a failure to record is logged loudly rather than turned into an error
// answer that would tell the client it had not; and the client hanging up does not stop
// the record.
func (s *Server) audit(c *gin.Context, action, object, detail string) {
	if s.wh == nil {
		return
	}
	k, _ := principalOf(c)
	actor := k.ID
	if k.Role == roleProvider {
		actor += " (provider " + k.OrgID + ")"
	} else {
		actor += " (" + string(k.Role) + ")"
	}
	ctx := context.WithoutCancel(c.Request.Context())
	if err := s.audits.record(ctx, warehouse.AuditEntry{Actor: actor, Action: action, Object: object, Detail: detail}); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "audit record failed", "request_id", requestID(c), "action", action, "object", object, "err", err)
	}
}

// BatchAuditStore is what a warehouse offers to append many audit entries in one write;
// the API uses it when the warehouse has it (see auditGroup).
type BatchAuditStore interface {
	RecordAudits(ctx context.Context, entries []warehouse.AuditEntry) error
}

// auditGroup records audit entries the way the warehouse commits submissions: entries of
// concurrent requests are gathered and written together, and each request returns once
// its own entry is written. With fifty providers submitting at once, one write per
// entry would cost the single writer as much as the submissions themselves (measured:
// half the throughput). Without a BatchAuditStore each entry is written on its own, as
// gathering entries only to write them one by one would hold every request of a group
// behind the others' writes (measured: it stops the submissions' group commit).
type auditGroup struct {
	st    AuditStore
	batch BatchAuditStore // nil: one RecordAudit per entry, no gathering

	mu       sync.Mutex
	pending  []pendingAudit
	flushing bool
}

type pendingAudit struct {
	e    warehouse.AuditEntry
	done chan error
}

func newAuditGroup(st AuditStore) *auditGroup {
	g := &auditGroup{st: st}
	if b, ok := st.(BatchAuditStore); ok {
		g.batch = b
	}
	return g
}

// record writes e, together with whatever other entries are waiting, and returns when it
// is written. The first caller to find no write in progress becomes the writer and
// writes batches until none is left; the others wait for their entry's batch.
func (g *auditGroup) record(ctx context.Context, e warehouse.AuditEntry) error {
	if g.batch == nil {
		return g.st.RecordAudit(ctx, e)
	}
	p := pendingAudit{e: e, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, p)
	if g.flushing {
		g.mu.Unlock()
		return <-p.done
	}
	g.flushing = true
	for len(g.pending) > 0 {
		batch := g.pending
		g.pending = nil
		g.mu.Unlock()
		g.write(ctx, batch)
		g.mu.Lock()
	}
	g.flushing = false
	g.mu.Unlock()
	return <-p.done
}

func (g *auditGroup) write(ctx context.Context, batch []pendingAudit) {
	entries := make([]warehouse.AuditEntry, len(batch))
	for i, p := range batch {
		entries[i] = p.e
	}
	err := g.batch.RecordAudits(ctx, entries)
	for _, p := range batch {
		p.done <- err
	}
}
