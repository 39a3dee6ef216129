"""geventc.backdoor: a Python console per connection, over real sockets."""
import sys

import geventc
from geventc import socket
from geventc.backdoor import BackdoorServer


def read_until(conn, suffix):
    data = b''
    while not data.endswith(suffix):
        chunk = conn.recv(1)
        assert chunk, 'connection ended before %r: %r' % (suffix, data)
        data += chunk
    return data.decode()


def test_console_output_goes_to_its_own_connection_only():
    real_stdout = sys.stdout
    printed_elsewhere = []

    def outside():
        # Another greenlet printing while consoles are open uses the old stream.
        printed_elsewhere.append(sys.stdout is real_stdout or sys.stdout._target() is real_stdout)

    with BackdoorServer(('127.0.0.1', 0), banner='hi there', locals={'outside': outside}) as server:
        server.start()
        a = socket.create_connection(server.address, timeout=10)
        b = socket.create_connection(server.address, timeout=10)
        assert read_until(a, b'>>> ').startswith('hi there')
        read_until(b, b'>>> ')
        a.sendall(b'x = 40\r\n')
        read_until(a, b'>>> ')
        b.sendall(b'x = 1\r\n')
        read_until(b, b'>>> ')
        a.sendall(b'print(x + 2); __import__("geventc").spawn(outside).join()\r\n')
        assert read_until(a, b'>>> ') == '42\n>>> '      # printed to a only
        b.sendall(b'x\r\n')
        assert read_until(b, b'>>> ') == '1\n>>> '       # each console has its own locals
        a.sendall(b'1/0\r\n')
        assert 'ZeroDivisionError' in read_until(a, b'>>> ')
        assert printed_elsewhere == [True]
        for conn in (a, b):
            conn.sendall(b'quit()\r\n')
            assert conn.recv(100) == b''
            conn.close()
    geventc.sleep(0.01)
    assert sys.stdout is real_stdout, 'the streams are restored when the last console ends'
