"""A lab of real, misconfigured servers on loopback for tests and the demo."""
