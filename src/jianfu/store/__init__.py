"""Nothing lost: the archive of received files, the store of rows, and the inbox.

The archive and the store are :mod:`~jianfu.store.database`; the inbox HR offices drop files in is
:mod:`~jianfu.store.inbox`. ``jianfu doctor`` (:mod:`jianfu.doctor`) checks them.
"""
