package ingest

import "testing"

// FuzzDecodeXLSX mutates a real assessment workbook: a corrupt zip, a broken sheet or a
// cell of the wrong type must be a reported problem, never a panic.
func FuzzDecodeXLSX(f *testing.F) {
	seedFile(f, "sample.xlsx")
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzIngest(t, FormatXLSX, data) })
}
