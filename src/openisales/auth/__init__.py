"""Request authentication: C2 signing, replay protection, secrets at rest. No I/O."""
