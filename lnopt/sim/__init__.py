"""The simulator: a Lightning-like network, payment demand, routing and fee policies."""
