"""The dialing engine: the dispatcher, the result pusher, gateways to telephony, their wiring."""
