"""Item content features assembled for the recommenders from whichever stages ran."""
