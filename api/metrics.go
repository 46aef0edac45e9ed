package api

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own (not the global
// one), so that several servers in one process (tests) do not collide. They count
// activity across organisations, which is why /metrics is for admin keys only.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	submissions  *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
}

// unmatchedRoute labels requests no route matched, so that scanners probing random paths
// cannot blow up the number of series.
const unmatchedRoute = "unmatched"

func newMetrics(wh Warehouse) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hcztmm_http_requests_total",
			Help: "HTTP requests by route template, method and status."}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hcztmm_http_request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"route", "method"}),
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hcztmm_api_submissions_total",
			Help: "Submissions ingested through the API by outcome (accepted, superseded, unchanged, rejected)."}, []string{"status"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hcztmm_auth_failures_total",
			Help: "Failed authentications by reason (missing, malformed, invalid)."}, []string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hcztmm_rate_limited_total",
			Help: "Requests refused with 429 by limit (auth: failed authentications per IP; write: writes per key)."}, []string{"limit"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.submissions, m.authFailures, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if wh != nil {
		// The warehouse writer's own counters: every ingest, the CLI's included.
		counter := func(name, help string, f func() int64) {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
				func() float64 { return float64(f()) }))
		}
		counter("hcztmm_ingest_submissions_stored_total", "Submissions stored by the warehouse writer since start.",
			func() int64 { return wh.Stats().Submissions })
		counter("hcztmm_ingest_answers_stored_total", "Answer rows stored by the warehouse writer since start.",
			func() int64 { return wh.Stats().Answers })
		counter("hcztmm_ingest_unchanged_total", "Submissions identical to the current one (nothing written) since start.",
			func() int64 { return wh.Stats().Unchanged })
		counter("hcztmm_ingest_rejected_total", "Submissions the warehouse refused since start.",
			func() int64 { return wh.Stats().Rejected })
		counter("hcztmm_ingest_transactions_total", "Write transactions committed by the warehouse writer since start.",
			func() int64 { return wh.Stats().Transactions })
		counter("hcztmm_ingest_commit_requests_total", "Commit calls answered by the warehouse writer since start.",
			func() int64 { return wh.Stats().Requests })
		// DuckDB's buffer pool, beside the process collector's RSS and the Go collector's
		// heap: the three together tell a growing working set from a leak.
		memory := func(name, help string, pick func(inMemory, spilled int64) int64) {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				in, spilled, err := wh.MemoryUsage(ctx)
				if err != nil {
					return math.NaN()
				}
				return float64(pick(in, spilled))
			}))
		}
		memory("hcztmm_duckdb_memory_bytes", "Memory held by DuckDB's buffer manager (duckdb_memory()).",
			func(in, _ int64) int64 { return in })
		memory("hcztmm_duckdb_spilled_bytes", "Temporary storage DuckDB has spilled to disk (duckdb_memory()).",
			func(_, spilled int64) int64 { return spilled })
	}
	return m
}

// middleware counts and times every request by its route template.
func (m *metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = unmatchedRoute
		}
		method := c.Request.Method
		switch method {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		default:
			method = "other" // invented methods must not mint series either
		}
		m.requests.WithLabelValues(route, method, strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	}
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}
