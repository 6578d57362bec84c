"""``tools/execute_notebooks.py`` no guarda en los cuadernos las líneas del registro de TensorFlow."""

import nbformat
from execute_notebooks import strip_tf_logs


def _cell(*outputs):
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = list(outputs)
    return cell


def test_strip_tf_logs_keeps_everything_else():
    log = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796173488.276206   25734 port.cc:153] oneDNN custom operations are on.\n"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell(nbformat.v4.new_output("stream", name="stderr", text=log)),
        _cell(
            nbformat.v4.new_output("stream", name="stdout", text="exactitud: 0.95\n"),
            nbformat.v4.new_output("stream", name="stderr", text=log + "aviso del capítulo\n"),
        ),
        nbformat.v4.new_markdown_cell("I0000 00:00:1.0 1 port.cc:1] texto"),
    ]
    assert strip_tf_logs(nb) == 4
    assert nb.cells[0].outputs == []  # una salida que queda vacía desaparece
    assert [o.text for o in nb.cells[1].outputs] == ["exactitud: 0.95\n", "aviso del capítulo\n"]
    assert nb.cells[2].source.startswith("I0000")  # el texto de las celdas no se toca
