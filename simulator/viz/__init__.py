"""The interactive explorer: Mesa's SolaraViz page for a flywheel (``flywheel explore``).

- :mod:`.params`: the controls, generated from the scenario schema;
- :mod:`.adapter`: ``ExplorerModel``, the ``FlywheelModel`` behind flat keyword
  parameters, and the confinement of every file the page reads to ``scenarios/``;
- :mod:`.live` and :mod:`.components`: the views;
- :mod:`.app`: the page; :mod:`.server`: serving it offline.

Only :mod:`.params`, :mod:`.adapter` and :mod:`.server` import without the ``viz`` extra.
"""
