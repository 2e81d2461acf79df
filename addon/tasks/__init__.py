"""Background work on Google Cloud Tasks: what a task carries, how it is named and enqueued.

* ``sealing`` — AES-GCM sealing of the user token a task carries (key ids for rotation).
* ``names`` — task ids: hashed per calendar, one per debounce window or follow-up moment.
* ``body`` — the JSON body of a sync task, parsed strictly.
* ``queue`` — ``SyncQueue``: creates tasks with the google-cloud-tasks client (REST).

What a task *does* when it is delivered is ``addon.scheduling``.
"""
