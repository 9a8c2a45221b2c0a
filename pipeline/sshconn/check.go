package sshconn

import (
	"context"
	"fmt"
)

// Check does everything Dial does before it connects: it validates cfg,
// reads the private keys (with their passphrases), and finds the server
// and every jump host in known_hosts. A typo in any of them fails here,
// before a connection or a build is attempted.
func Check(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, h := range cfg.chain() {
		if _, _, err := hostKeyCallback(h); err != nil {
			return err
		}
		if len(h.cfg.PrivateKey) == 0 {
			continue // an agent is only asked when connecting
		}
		_, closeAgent, err := authMethod(context.Background(), h.cfg)
		if err != nil {
			if h.jump {
				return fmt.Errorf("%s: %w", h.name, err)
			}
			return err
		}
		closeAgent()
	}
	return nil
}
