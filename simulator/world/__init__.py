"""What exists before step 1: the random streams, the population, the network, and
whether the run fits in memory."""
