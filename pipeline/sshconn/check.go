package sshconn

import "context"

// Check does everything Dial does before it connects: it validates cfg,
// reads the private key (with its passphrase), and finds cfg's host in
// known_hosts. A typo in any of them fails here, before a connection or a
// build is attempted.
func Check(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if _, _, err := hostKeyCallback(cfg); err != nil {
		return err
	}
	if len(cfg.PrivateKey) == 0 {
		return nil // an agent is only asked when connecting
	}
	_, closeAgent, err := authMethod(context.Background(), cfg)
	if err != nil {
		return err
	}
	closeAgent()
	return nil
}
