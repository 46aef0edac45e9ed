package warehouse

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

func TestScoreAll(t *testing.T) {
	m := testReg.Latest()
	a, b := scored(t, "org-a", "2026", 1), scored(t, "org-b", "2026", 2)
	got, err := ScoreAll(m, []model.Submission{a.Submission, b.Submission}, "demo")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []ScoredSubmission{a, b} {
		g := got[i]
		if g.Keys != want.Keys || g.Source != "demo" || g.ContentHash != "" ||
			!reflect.DeepEqual(g.Score, m.Assess(want.Submission.Answers)) || g.Submission.Organisation != want.Submission.Organisation {
			t.Errorf("submission %d: got keys %+v source %q hash %q posture %v; want keys %+v, posture %v",
				i, g.Keys, g.Source, g.ContentHash, g.Score.Posture, want.Keys, want.Score.Posture)
		}
	}
	bad := b.Submission
	bad.Organisation.State = "ZZ"
	if _, err := ScoreAll(m, []model.Submission{a.Submission, bad}, "demo"); err == nil || !strings.Contains(err.Error(), "org-b") {
		t.Fatalf("a profile without cohort keys: %v", err)
	}
}
