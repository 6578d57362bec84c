"""Comprueba que los ajustes de ``make portable`` surten efecto (no basta con definirlos).

``make portable`` simula otra máquina: un hilo de cálculo en todas las bibliotecas, los núcleos
genéricos de PyTorch (``ATEN_CPU_CAPABILITY=default``) y TensorFlow sin oneDNN
(``TF_ENABLE_ONEDNN_OPTS=0``). Este guion, ejecutado con las mismas variables que heredan los
núcleos de los cuadernos, pregunta a cada biblioteca qué está usando de verdad y termina con
código 1 si alguna no obedece. PyTorch se importa antes que TensorFlow (DESIGN §8).
"""

from __future__ import annotations

import os
import sys


def checks() -> list[tuple[str, str, bool]]:
    """Lista de (ajuste, valor observado, si es el esperado)."""
    results = []
    import numpy as np  # noqa: F401  (carga la BLAS de NumPy para que threadpoolctl la vea)
    from threadpoolctl import threadpool_info

    for pool in threadpool_info():
        name = f"{pool['internal_api']} ({pool['user_api']}) de {os.path.basename(pool['filepath'])}"
        results.append((f"hilos de {name}", str(pool["num_threads"]), pool["num_threads"] == 1))

    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    results.append(("núcleos de PyTorch (get_cpu_capability)", capability, capability == "DEFAULT"))
    threads = torch.get_num_threads()
    results.append(("hilos de PyTorch (get_num_threads)", str(threads), threads == 1))
    torch.set_num_threads(1)
    results.append(("torch.set_num_threads(1) respetado", str(torch.get_num_threads()),
                    torch.get_num_threads() == 1))

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tensorflow.python.util import _pywrap_util_port

    onednn = _pywrap_util_port.IsMklEnabled()
    results.append(("oneDNN en TensorFlow (IsMklEnabled)", str(onednn), onednn is False))
    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        results.append((var, os.environ.get(var, "(sin definir)"), os.environ.get(var) == "1"))
    return results


def main() -> int:
    results = checks()
    width = max(len(name) for name, _, _ in results)
    for name, observed, ok in results:
        print(f"{name:<{width}}  {observed:<10} {'ok' if ok else 'NO SURTE EFECTO'}")
    bad = [name for name, _, ok in results if not ok]
    if bad:
        print(f"\n{len(bad)} ajustes no surten efecto: {', '.join(bad)}", file=sys.stderr)
        return 1
    print("\nTodos los ajustes de la ejecución portátil surten efecto.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
