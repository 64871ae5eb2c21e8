"""Reports: service KPIs of a site over any period (from the rollups the routing scripts keep),
the demo's made-up history, and the Prometheus metrics of the running processes."""
