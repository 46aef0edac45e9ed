package warehouse

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/model"
)

func TestCreateCycleValidation(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	v := testReg.Latest().Version
	mustCycle(t, db, "2026")
	tests := []struct {
		name  string
		cycle Cycle
		kind  model.Kind
		field string
	}{
		{"empty id", Cycle{ModelVersion: v, Epsilon: 1}, model.KindInvalid, "id"},
		{"id with space", Cycle{ID: "20 26", ModelVersion: v, Epsilon: 1}, model.KindInvalid, "id"},
		{"id too long", Cycle{ID: "c1234567890123456789012345678901234", ModelVersion: v, Epsilon: 1}, model.KindInvalid, "id"},
		{"unknown model", Cycle{ID: "c1", ModelVersion: "9.9", Epsilon: 1}, model.KindInvalid, "model_version"},
		{"zero epsilon", Cycle{ID: "c1", ModelVersion: v, Epsilon: 0}, model.KindInvalid, "epsilon"},
		{"NaN epsilon", Cycle{ID: "c1", ModelVersion: v, Epsilon: math.NaN()}, model.KindInvalid, "epsilon"},
		{"infinite epsilon", Cycle{ID: "c1", ModelVersion: v, Epsilon: math.Inf(1)}, model.KindInvalid, "epsilon"},
		{"delta one", Cycle{ID: "c1", ModelVersion: v, Epsilon: 1, Delta: 1}, model.KindInvalid, "delta"},
		{"epsilon above the cap", Cycle{ID: "c1", ModelVersion: v, Epsilon: MaxCycleEpsilon + 1}, model.KindInvalid, "epsilon"},
		{"epsilon the ledger's units would overflow", Cycle{ID: "c1", ModelVersion: v, Epsilon: 1e20}, model.KindInvalid, "epsilon"},
		{"delta above the cap", Cycle{ID: "c1", ModelVersion: v, Epsilon: 1, Delta: 0.01}, model.KindInvalid, "delta"},
		{"negative delta", Cycle{ID: "c1", ModelVersion: v, Epsilon: 1, Delta: -0.1}, model.KindInvalid, "delta"},
		{"created closed", Cycle{ID: "c1", ModelVersion: v, Epsilon: 1, Status: CycleClosed}, model.KindInvalid, "status"},
		{"duplicate", Cycle{ID: "2026", ModelVersion: v, Epsilon: 1}, model.KindConflict, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := db.CreateCycle(ctx, tc.cycle)
			wantKind(t, err, tc.kind)
			if tc.field == "" {
				return
			}
			var e *model.Error
			if !asModelError(err, &e) || len(e.Details) == 0 || e.Details[0].Field != tc.field {
				t.Errorf("error %v does not name field %q", err, tc.field)
			}
		})
	}
	if cs, _ := db.ListCycles(ctx); len(cs) != 1 {
		t.Errorf("invalid cycles were stored: %+v", cs)
	}
}

func TestCycleLifecycle(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	v := testReg.Latest().Version
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := db.CreateCycle(ctx, Cycle{ID: "2025", ModelVersion: v, Epsilon: 2, Delta: 1e-5, CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	mustCycle(t, db, "2026")

	c, err := db.GetCycle(ctx, "2025")
	if err != nil {
		t.Fatal(err)
	}
	want := Cycle{ID: "2025", ModelVersion: v, Epsilon: 2, Delta: 1e-5, Status: CycleOpen, CreatedAt: created}
	if c.ID != want.ID || c.ModelVersion != want.ModelVersion || c.Epsilon != want.Epsilon || c.Delta != want.Delta ||
		c.Status != want.Status || !c.CreatedAt.Equal(created) || c.ClosedAt != nil {
		t.Errorf("GetCycle = %+v, want %+v", c, want)
	}
	_, err = db.GetCycle(ctx, "1999")
	wantKind(t, err, model.KindNotFound, "1999")

	if err := db.CloseCycle(ctx, "2025"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, db.CloseCycle(ctx, "2025"), model.KindConflict, "already closed")
	wantKind(t, db.CloseCycle(ctx, "1999"), model.KindNotFound, "1999")

	cs, err := db.ListCycles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ID != "2025" || cs[1].ID != "2026" {
		t.Fatalf("ListCycles = %+v", cs)
	}
	if cs[0].Status != CycleClosed || cs[0].ClosedAt == nil || cs[1].Status != CycleOpen {
		t.Errorf("statuses = %+v", cs)
	}
}

func TestAuditLog(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	for _, a := range []string{"cycle.create", "cycle.close"} {
		if err := db.RecordAudit(ctx, AuditEntry{Actor: "admin:1", Action: a, Object: "cycle/2026"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordAudit(ctx, AuditEntry{Action: "x"}); err == nil {
		t.Error("audit entry without actor accepted")
	}
	es, err := db.ListAudit(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Action != "cycle.close" || es[0].ID != 2 || es[1].ID != 1 || es[0].At.IsZero() {
		t.Errorf("audit = %+v", es)
	}
}
