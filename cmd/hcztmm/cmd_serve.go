package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/dashboards"
	"github.com/hcztmm/warehouse/warehouse"
	"github.com/spf13/cobra"
)

func (a *app) serveCommand() *cobra.Command {
	var (
		addr     string
		dbPath   string
		demo     bool
		demoOpts demoOptions
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080] [--db FILE] [--demo]",
		Short: "Serve the API and dashboards",
		Long: `Serve the JSON API under /api/v1, /healthz and /readyz.

With --demo, a database without cycles is first filled with a synthetic population
(--demo-orgs organisations over --demo-cycles cycles) through the real ingest path, so a
newcomer has something to look at. An existing database is never overwritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			logger, err := newLogger(a.stderr, logLevel)
			if err != nil {
				return usageError("%v", err)
			}
			db, err := a.openWarehouse(ctx, dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			if demo {
				if err := a.seedDemo(ctx, db, demoOpts); err != nil {
					return fmt.Errorf("demo data: %w", err)
				}
			}
			pages, err := dashboards.New(dashboards.Config{}, dashboards.Deps{Models: a.models, Releases: db,
				Orgs: dashboards.OrgScoped(db), Auth: api.KeyAuthenticator(db), Logger: logger})
			if err != nil {
				return err
			}
			srv, err := api.New(api.Config{Addr: addr, Logger: logger},
				api.Deps{Models: a.models, Ready: readiness{db}, Warehouse: db, Pages: pages})
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			base := "http://" + l.Addr().String()
			fmt.Fprintf(a.stdout, "serving on %s (database %s)\n", base, dbPath)
			fmt.Fprintf(a.stdout, "  dashboards: %s/dashboards/ (sign in with a key)\n  curl %s/healthz\n  curl %s/api/v1/model\n", base, base, base)
			if demo {
				if err := a.printDemoKeys(ctx, db, base); err != nil {
					return fmt.Errorf("demo keys: %w", err)
				}
			}
			return srv.Serve(ctx, l)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	f.StringVar(&dbPath, "db", dbDefault(), "warehouse file (env HCZTMM_DB)")
	f.BoolVar(&demo, "demo", false, "fill a new database with demo data first")
	f.IntVar(&demoOpts.orgs, "demo-orgs", 6000, "organisations in the demo population")
	f.IntVar(&demoOpts.cycles, "demo-cycles", 3, "cycles in the demo population")
	f.Uint64Var(&demoOpts.seed, "demo-seed", 1, "seed of the demo population")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func newLogger(w any, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	out, ok := w.(interface{ Write([]byte) (int, error) })
	if !ok {
		return nil, fmt.Errorf("no log writer")
	}
	return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: l})), nil
}

// readiness reports the warehouse ready when it answers a read.
type readiness struct{ db *warehouse.DB }

func (r readiness) Ready(ctx context.Context) error {
	_, err := r.db.ListCycles(ctx)
	return err
}
