package warehouse

import (
	"fmt"
	"time"

	"github.com/hcztmm/warehouse/model"
)

// plan is the writer's decision for one transaction: rows to insert, outcomes to report
// and the state to adopt once it has committed.
type plan struct {
	rows     []row
	outcomes []decided
	pending  map[orgCycle]currentSub
	firstID  int64
	nextID   int64
	replaced []int64 // IDs this plan supersedes, in row order
	answers  int
	// newOrgs and changedOrgs are the organisations whose stored profile this plan creates
	// or changes: the latest profile of each, and the receive time of the row it comes
	// from. Apart because a plain INSERT costs half of an upsert, and an unchanged profile
	// (the usual resubmission) costs nothing.
	newOrgs, changedOrgs []orgChange
}

type orgChange struct {
	id       string
	row      orgRow
	received time.Time
}

// row is a submission to insert.
type row struct {
	p        *prepared
	id       int64
	replaces int64
	received time.Time
}

type decided struct {
	req *request
	i   int
	out Outcome
}

// decide applies the per-submission rules against the committed state plus what earlier
// units of the same plan will write.
func (w *writer) decide(units []unit) *plan {
	p := &plan{pending: map[orgCycle]currentSub{}, firstID: w.nextID, nextID: w.nextID}
	for _, u := range units {
		startRows, startOut, startID := len(p.rows), len(p.outcomes), p.nextID
		type undo struct {
			key  orgCycle
			prev currentSub
			had  bool
		}
		var undos []undo
		failed, failErr := -1, error(nil)
		for i := u.lo; i < u.hi; i++ {
			ps := &u.req.subs[i]
			if err := w.check(ps); err != nil {
				p.outcomes = append(p.outcomes, decided{u.req, i, Outcome{Status: StatusRejected, Err: err}})
				if failed < 0 {
					failed, failErr = i, err
				}
				continue
			}
			key := orgCycle{ps.sub.Submission.Organisation.ID, ps.sub.Submission.Cycle}
			cur, ok := p.pending[key]
			if !ok {
				cur, ok = w.current[key]
			}
			if ok && cur.hash == ps.hash {
				p.outcomes = append(p.outcomes, decided{u.req, i, Outcome{Status: StatusUnchanged, SubmissionID: cur.id}})
				continue
			}
			id := p.nextID
			p.nextID++
			prev, had := p.pending[key]
			undos = append(undos, undo{key, prev, had})
			p.pending[key] = currentSub{id: id, hash: ps.hash}
			r := row{p: ps, id: id, received: u.req.received}
			out := Outcome{Status: StatusAccepted, SubmissionID: id}
			if ok {
				r.replaces = cur.id
				out = Outcome{Status: StatusSuperseded, SubmissionID: id, Replaced: cur.id}
			}
			p.rows = append(p.rows, r)
			p.outcomes = append(p.outcomes, decided{u.req, i, out})
		}
		if failed >= 0 && u.hi-u.lo > 1 {
			// All-or-nothing: take back this unit's rows and state, reject every member.
			cause := failErr
			for k := len(undos) - 1; k >= 0; k-- {
				if undos[k].had {
					p.pending[undos[k].key] = undos[k].prev
				} else {
					delete(p.pending, undos[k].key)
				}
			}
			p.rows, p.nextID = p.rows[:startRows], startID
			for k := startOut; k < len(p.outcomes); k++ {
				d := &p.outcomes[k]
				if d.i != failed {
					d.out = Outcome{Status: StatusRejected, Err: &model.Error{Kind: model.ErrorKind(cause),
						Message: fmt.Sprintf("not stored: submission %d of this all-or-nothing batch was rejected", failed+1), Err: cause}}
				}
			}
		}
	}
	latest := map[string]int{}
	for i, r := range p.rows {
		p.answers += len(r.p.answers)
		if r.replaces != 0 {
			p.replaced = append(p.replaced, r.replaces)
		}
		latest[r.p.sub.Submission.Organisation.ID] = i
	}
	for id, i := range latest {
		r := p.rows[i]
		o := profileRow(r.p.sub)
		switch old, ok := w.orgs[id]; {
		case !ok:
			p.newOrgs = append(p.newOrgs, orgChange{id: id, row: o, received: r.received})
		case old != o:
			p.changedOrgs = append(p.changedOrgs, orgChange{id: id, row: o, received: r.received})
		}
	}
	return p
}

func profileRow(s *ScoredSubmission) orgRow {
	o := &s.Submission.Organisation
	return orgRow{name: o.Name, state: o.State, beds: o.Beds, typ: o.Type, band: s.Keys.SizeBand, region: s.Keys.Region}
}

// check applies the rules that need the writer's state: the cycle exists, is open and
// uses the submission's model version.
func (w *writer) check(ps *prepared) error {
	if ps.err != nil {
		return ps.err
	}
	s := &ps.sub.Submission
	c, ok := w.cycles[s.Cycle]
	switch {
	case !ok:
		return model.Invalid(fmt.Sprintf("cycle %q does not exist", s.Cycle),
			model.FieldError{Field: "cycle", Rule: "unknown_cycle", Value: s.Cycle, Message: fmt.Sprintf("cycle %q does not exist", s.Cycle)})
	case !c.open:
		return &model.Error{Kind: model.KindConflict, Message: fmt.Sprintf("cycle %q is closed", s.Cycle),
			Details: []model.FieldError{{Field: "cycle", Rule: "cycle_closed", Value: s.Cycle, Message: fmt.Sprintf("cycle %q is closed to submissions", s.Cycle)}}}
	case c.modelVersion != s.ModelVersion:
		msg := fmt.Sprintf("cycle %q uses model %s, the submission model %s", s.Cycle, c.modelVersion, s.ModelVersion)
		return model.Invalid(msg, model.FieldError{Field: "model_version", Rule: "cycle_model_mismatch", Value: s.ModelVersion, Message: msg})
	}
	return nil
}

// apply adopts a plan after its transaction committed (or when it wrote nothing).
func (p *plan) apply(w *writer) {
	for k, v := range p.pending {
		w.current[k] = v
	}
	w.nextID = p.nextID
	for _, os := range [][]orgChange{p.newOrgs, p.changedOrgs} {
		for _, o := range os {
			w.orgs[o.id] = o.row
		}
	}
	for _, d := range p.outcomes {
		d.req.out[d.i] = d.out
		switch d.out.Status {
		case StatusUnchanged:
			w.stats.unchanged.Add(1)
		case StatusRejected:
			w.stats.rejected.Add(1)
		}
	}
	if len(p.rows) > 0 {
		w.stats.transactions.Add(1)
		w.stats.submissions.Add(int64(len(p.rows)))
		w.stats.answers.Add(int64(p.answers))
	}
}
