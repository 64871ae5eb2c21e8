"""One module per scenario: `add_options` (its flags), `control` (the controller's part, in
the main process) and `work` (one worker process's part)."""

NAMES = ("relay", "burst", "idle", "storm", "slow", "echo", "abuse")
