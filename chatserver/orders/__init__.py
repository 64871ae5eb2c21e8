"""Where a customer's order history comes from: the demo store, pushes from the store's backend
(signed webhooks), and pulls from the store's HTTP endpoint (cached)."""
