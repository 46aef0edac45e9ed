package privacy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// Store is what publishing needs of the warehouse; *warehouse.DB satisfies it. It reads
// each organisation's latest scores only to feed the aggregators: nothing read here
// leaves this package except through the noised release.
type Store interface {
	GetCycle(ctx context.Context, id string) (warehouse.Cycle, error)
	CurrentScores(ctx context.Context, cycleID string) ([]warehouse.OrgScore, error)
	ReserveRelease(ctx context.Context, r warehouse.ReleaseReservation) (string, warehouse.Budget, error)
	PublishRelease(ctx context.Context, id string, body []byte, values []warehouse.ReleaseValue) error
}

// Published is the outcome of Publish: the release, its stored bytes and the budget left.
type Published struct {
	Release *Release
	Body    []byte
	Budget  warehouse.Budget
}

// Publish computes and stores one release of a cycle. The order is what keeps the
// privacy contract: the cost is reserved in the ledger first (refused with
// KindBudgetExceeded when it does not fit, also under concurrent requests, since the
// warehouse's single writer decides), then the noise is drawn once, and the canonical
// bytes are stored and never recomputed. If anything fails after the reservation, the
// budget stays spent: noise may already have been drawn.
func Publish(ctx context.Context, store Store, reg *model.Registry, req Request) (*Published, error) {
	cycle, err := store.GetCycle(ctx, req.Cycle)
	if err != nil {
		return nil, err
	}
	m, err := reg.Get(cycle.ModelVersion)
	if err != nil {
		return nil, err
	}
	plan, err := NewPlan(m, req)
	if err != nil {
		return nil, err
	}
	reqJSON, err := json.Marshal(plan.Request)
	if err != nil {
		return nil, fmt.Errorf("privacy: encode request: %w", err)
	}
	res := warehouse.ReleaseReservation{Cycle: cycle.ID, ModelVersion: m.Version, Noise: string(plan.Request.Noise), Request: reqJSON}
	for _, e := range plan.Cost.Entries {
		res.Entries = append(res.Entries, warehouse.LedgerEntry{Partitioning: string(e.Partitioning), Family: string(e.Family),
			EpsilonUnits: e.EpsilonUnits, DeltaUnits: e.DeltaUnits, L0: e.L0, Cohorts: e.Cohorts})
	}
	id, budget, err := store.ReserveRelease(ctx, res)
	if err != nil {
		return nil, err
	}
	scores, err := store.CurrentScores(ctx, cycle.ID)
	if err != nil {
		return nil, fmt.Errorf("privacy: release %s (budget already reserved): %w", id, err)
	}
	records := make([]Record, len(scores))
	for i := range scores {
		records[i] = recordOfScore(&scores[i])
	}
	rel, err := Build(m, plan, records)
	if err != nil {
		return nil, fmt.Errorf("privacy: release %s (budget already reserved): %w", id, err)
	}
	rel.ID = id
	body, err := rel.Encode()
	if err != nil {
		return nil, fmt.Errorf("privacy: release %s: encode: %w", id, err)
	}
	if err := store.PublishRelease(ctx, id, body, storageValues(rel.Values())); err != nil {
		return nil, err
	}
	return &Published{Release: rel, Body: body, Budget: budget}, nil
}

func recordOfScore(s *warehouse.OrgScore) Record {
	r := Record{OrgID: s.OrgID, Keys: s.Keys, Posture: s.Posture, Index: s.Index,
		Domains: make([]DomainValue, len(s.Domains)), Answers: s.Answers}
	for i, d := range s.Domains {
		r.Domains[i] = DomainValue{Assessed: d.Assessed, Index: d.Index, Posture: d.Posture}
	}
	return r
}

func storageValues(rows []Row) []warehouse.ReleaseValue {
	out := make([]warehouse.ReleaseValue, len(rows))
	for i, r := range rows {
		out[i] = warehouse.ReleaseValue{Partitioning: string(r.Partitioning), SizeBand: r.SizeBand, Region: r.Region,
			OrgType: r.OrgType, Metric: r.Metric, Subject: r.Subject, Bucket: r.Bucket,
			Value: r.Value, Raw: r.Raw, CILow: r.CILow, CIHigh: r.CIHigh, Suppressed: r.Suppressed, Withheld: r.Withheld,
			Reason: r.Reason, Family: string(r.Family), Noise: r.Noise, Epsilon: r.Epsilon, Delta: r.Delta,
			L0: r.L0, LInf: r.LInf, NoiseScale: r.NoiseScale}
	}
	return out
}
