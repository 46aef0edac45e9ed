package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"

	"github.com/hcztmm/warehouse/model"
)

// hashDomain starts every canonical encoding, so that a change of encoding is a change of
// every hash rather than a silent collision with old ones.
const hashDomain = "hcztmm/submission-content/v1\x00"

// ContentHash identifies a submission's content: SHA-256 (hex) over a canonical encoding
// of the model version, cycle, organisation profile and answers sorted by capability ID.
// The receive time and submitted_at are left out on purpose: re-ingesting the same file,
// or the same answers exported again by another tool, gives the same hash, which is how
// the warehouse recognises an unchanged resubmission. Format, column order and key
// order do not matter either.
func ContentHash(s *model.Submission) string {
	ids := make([]string, 0, len(s.Answers))
	for id := range s.Answers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	sum := sha256.Sum256(appendCanonical(nil, s, ids))
	return hex.EncodeToString(sum[:])
}

// appendCanonical writes the canonical encoding: each string length-prefixed (so no
// separator can be forged by a value), then the answer count and (id, answer) pairs in
// the order of sorted. The pipeline passes the model's pre-sorted IDs, which equal the
// answer keys of any valid submission; if they do not match, the keys are sorted here.
func appendCanonical(b []byte, s *model.Submission, sorted []string) []byte {
	b = append(b, hashDomain...)
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	str(s.ModelVersion)
	str(s.Cycle)
	p := &s.Organisation
	str(p.ID)
	str(p.Name)
	str(p.State)
	str(strconv.Itoa(p.Beds))
	str(p.Type)
	if len(sorted) != len(s.Answers) || !allPresent(s.Answers, sorted) {
		sorted = make([]string, 0, len(s.Answers))
		for id := range s.Answers {
			sorted = append(sorted, id)
		}
		slices.Sort(sorted)
	}
	b = binary.AppendUvarint(b, uint64(len(sorted)))
	for _, id := range sorted {
		str(id)
		b = append(b, byte(s.Answers[id]))
	}
	return b
}

func allPresent(answers map[string]model.Answer, ids []string) bool {
	for _, id := range ids {
		if _, ok := answers[id]; !ok {
			return false
		}
	}
	return true
}

func hexString(sum []byte) string { return hex.EncodeToString(sum) }
