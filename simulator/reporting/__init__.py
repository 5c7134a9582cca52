"""What a run leaves behind: the results folder (:mod:`.folder`) and its slide-ready
figures (:mod:`.plots`, a public plotting API)."""
