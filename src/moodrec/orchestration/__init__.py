"""Running moodrec for real: task runners (local or Dask), deployments settings, the report."""
