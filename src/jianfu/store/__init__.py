"""Nothing lost: the archive of received files and the store of rows (:mod:`~jianfu.store.database`) and the inbox
HR offices drop files in (:mod:`~jianfu.store.inbox`). ``jianfu doctor`` (:mod:`jianfu.doctor`) checks them.
"""
