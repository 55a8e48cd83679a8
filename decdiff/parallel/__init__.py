"""Running a report's independent steps as tasks, here or on dask.distributed (`tasks`)."""
