"""The file server of a run: firmware images the charger downloads, diagnostics and logs it uploads (HTTP and FTP,
on loopback unless the bench says otherwise), with failure modes on demand and a record of every transfer.

  area.py        the served directory and the failure modes a path asks for
  records.py     what was transferred (TransferRecord, TransferLog)
  http_server.py, ftp_server.py   the two protocols on the wire
  server.py      both together (FileServer), and which addresses it may listen on
  run_files.py   the server as a run uses it: images, signatures, the values scenarios refer to
The modules are imported one by one (the bench config only needs server.check_host, which loads no server).
"""
