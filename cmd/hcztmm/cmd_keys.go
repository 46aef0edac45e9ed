package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/hcztmm/warehouse/warehouse"
	"github.com/spf13/cobra"
)

func (a *app) keysCommand() *cobra.Command {
	var dbPath string
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Manage API keys",
		Long: `API keys authenticate every API call ('Authorization: Bearer <key>'). Roles: admin (cycles,
releases, keys, audit log), researcher and analyst (published releases), provider (one
organisation's own data and its peer benchmark). Keys are 256-bit random tokens; only
their SHA-256 digest is stored, so a key is shown once, when it is created.`,
	}
	keys.PersistentFlags().StringVar(&dbPath, "db", dbDefault(), "warehouse file (env HCZTMM_DB)")

	var role, org, label string
	create := &cobra.Command{
		Use:   "create --role admin|researcher|analyst|provider [--org ID] [--label TEXT]",
		Short: "Mint an API key and print it once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := warehouse.ParseRole(role)
			if err != nil {
				return usageError("%v", err)
			}
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				k, token, err := db.CreateKey(cmd.Context(), r, org, label)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "created key %s (role %s%s); it is shown once, store it now:\n", k.ID, k.Role, orgSuffix(k.OrgID))
				fmt.Fprintln(a.stdout, token)
				return nil
			})
		},
	}
	create.Flags().StringVar(&role, "role", "", "admin, researcher, analyst or provider (required)")
	create.Flags().StringVar(&org, "org", "", "organisation a provider key is bound to (required for providers)")
	create.Flags().StringVar(&label, "label", "", "a note saying whose key it is")

	list := &cobra.Command{
		Use:   "list",
		Short: "List keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				ks, err := db.ListKeys(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KEY\tROLE\tORG\tLABEL\tCREATED\tREVOKED")
				for _, k := range ks {
					revoked := ""
					if k.RevokedAt != nil {
						revoked = k.RevokedAt.Format("2006-01-02 15:04")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.OrgID, k.Label, k.CreatedAt.Format("2006-01-02 15:04"), revoked)
				}
				return tw.Flush()
			})
		},
	}

	revoke := &cobra.Command{
		Use:   "revoke KEY-ID",
		Short: "Revoke a key for good",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				k, err := db.RevokeKey(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "revoked key %s (role %s%s)\n", k.ID, k.Role, orgSuffix(k.OrgID))
				return nil
			})
		},
	}
	keys.AddCommand(create, list, revoke)
	return keys
}

func orgSuffix(org string) string {
	if org == "" {
		return ""
	}
	return ", organisation " + org
}
