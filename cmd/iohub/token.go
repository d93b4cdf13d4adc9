package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/iohub/iohub/auth"
)

// newTokenCmd builds `iohub token`, which prints an HS256 token signed with auth.jwt.secret,
// taken like every key from --config, IOHUB_AUTH_JWT_SECRET or --auth.jwt.secret.
func newTokenCmd() (*cobra.Command, error) {
	var opts auth.MintOptions
	c := &cobra.Command{
		Use:   "token --sub ID [--name N] [--rooms 'a,team-*'] [--ttl 1h]",
		Short: "Print an HS256 token signed with auth.jwt.secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printToken(cmd, opts)
		},
	}
	c.Flags().StringVar(&opts.Subject, "sub", "", "user id (sub claim)")
	c.Flags().StringVar(&opts.Name, "name", "", "display name (name claim)")
	c.Flags().StringSliceVar(&opts.Rooms, "rooms", nil, "room patterns the user may join, comma-separated; * matches any run of characters (default: the rooms.default_policy)")
	c.Flags().DurationVar(&opts.TTL, "ttl", time.Hour, "lifetime of the token")
	if err := c.MarkFlagRequired("sub"); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return c, nil
}

// printToken mints the token of opts and prints it on its own line.
func printToken(cmd *cobra.Command, opts auth.MintOptions) error {
	switch {
	case opts.Subject == "":
		return errors.New("--sub: must not be empty")
	case opts.TTL <= 0:
		return fmt.Errorf("--ttl: must be greater than 0, got %s", opts.TTL)
	}
	cfg, err := loadConfig(cmd.Flags())
	if err != nil {
		return err
	}
	if cfg.Auth.JWT.Secret == "" {
		return errors.New("auth.jwt.secret is not set: iohub token signs with it (set IOHUB_AUTH_JWT_SECRET, --auth.jwt.secret or the config file; in dev mode use GET /dev/token instead)")
	}
	token, err := auth.Mint(cfg.Auth.JWT.Secret, opts)
	if err != nil {
		return asRuntime(err)
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), token)
	return asRuntime(err)
}
