"""``make chaos``: deliveries (400 by default, about 1,000 on a quieter machine) driven
through the real processes while workers, API processes, Redis, PostgreSQL and the sandbox
provider are killed, restarted and paused on a seeded schedule; afterwards the invariants are
checked from the database, the outbox and the sandbox's own records (see README.md, "Chaos
run")."""
