package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestKillServerDuringConcurrentSubmissions kills `hcztmm serve` with SIGKILL at a random
// point while providers submit concurrently through the API (and readers read, and an
// administrator publishes releases), then
// restarts it on the same file, several rounds in a row. After every restart the server
// must come up and answer; at the end every submission the server acknowledged with 201
// must be stored as sent, and the file must hold no partial submission. Submissions in
// flight at the kill may or may not be stored, but only whole. Every acknowledged release
// is published with the bytes it was acknowledged with; one cut off by the kill is either
// published whole or left reserved, its budget spent (its noise may have been drawn).
func TestKillServerDuringConcurrentSubmissions(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts and kills servers")
	}
	const (
		rounds    = 3
		providers = 16
	)
	w := newServedWorld(t, 400, providers)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("kill points drawn with seed %d", seed)

	var sentTotal, inFlight int
	releases := &ackedReleases{sha: map[string]string{}}
	for round := range rounds {
		srv := startServe(t, w.db)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: providers}, Timeout: 30 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		var acked, lost, unexpected atomic.Int64
		var firstAck sync.Once
		ackCh := make(chan struct{})
		var wg sync.WaitGroup
		for _, p := range w.providers {
			wg.Go(func() {
				for ctx.Err() == nil {
					status, err := p.submit(ctx, client, srv.base)
					switch {
					case err == nil:
						acked.Add(1)
						firstAck.Do(func() { close(ackCh) })
					case status == 0:
						lost.Add(1) // no answer: the server died under it
					default:
						unexpected.Add(1)
						t.Errorf("round %d: %v", round, err)
					}
				}
			})
		}
		// An administrator publishes small releases, which read every current score
		// through the same writer while the submissions commit.
		wg.Go(func() {
			for ctx.Err() == nil {
				if rel, err := postRelease(ctx, client, srv.base, w.admin, w.cycle, 0.05); err == nil {
					releases.add(rel)
				} else if rel.status != 0 {
					t.Errorf("round %d: %v", round, err)
				}
			}
		})
		// Readers keep the pool busy while the writer commits.
		for i := range 2 {
			p := w.providers[i]
			wg.Go(func() {
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.base+"/api/v1/benchmark/"+w.cycle, nil)
					req.Header.Set("Authorization", "Bearer "+p.token)
					if resp, err := client.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained only
						resp.Body.Close()
						if resp.StatusCode >= 500 {
							t.Errorf("round %d: benchmark answered %d", round, resp.StatusCode)
						}
					}
				}
			})
		}
		select {
		case <-ackCh:
		case <-time.After(30 * time.Second):
			t.Fatal("no submission acknowledged within 30 s")
		}
		delay := time.Duration(50+rng.IntN(1500)) * time.Millisecond
		time.Sleep(delay)
		srv.kill(t)
		cancel()
		wg.Wait()
		client.CloseIdleConnections()
		inFlight += int(lost.Load())
		t.Logf("round %d: killed %s after the first acknowledgement; %d acknowledged, %d without an answer",
			round+1, delay, acked.Load(), lost.Load())
		if unexpected.Load() > 0 {
			t.Fatalf("round %d: %d submissions refused", round+1, unexpected.Load())
		}
	}
	for _, p := range w.providers {
		sentTotal += p.sent
	}

	// The restarted server answers a provider from the recovered file.
	srv := startServe(t, w.db)
	p := w.providers[0]
	req, _ := http.NewRequest(http.MethodGet, srv.base+"/api/v1/scorecards/"+w.cycle, nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scorecard after restart: %d", resp.StatusCode)
	}
	srv.stop(t)

	stored := verifyStored(t, w)
	verifyReleases(t, w, releases)
	ackedTotal := 0
	for _, p := range w.providers {
		ackedTotal += len(p.acknowledged())
	}
	// Stored = the population + every acknowledged + some of those cut off by the kill.
	if extra := stored - w.initialSubmissions - ackedTotal; extra < 0 || extra > inFlight {
		t.Fatalf("%d stored = %d initial + %d acknowledged + %d; at most %d were in flight", stored, w.initialSubmissions, ackedTotal, extra, inFlight)
	}
	t.Logf("%d rounds: %d releases acknowledged; %d sent, %d acknowledged, %d cut off by the kill, %d of those stored whole",
		rounds, len(releases.sha), sentTotal, ackedTotal, inFlight, stored-w.initialSubmissions-ackedTotal)
}
