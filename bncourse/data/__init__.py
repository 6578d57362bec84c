"""Carga de MNIST y CIFAR-10 reales, con comprobación de integridad.

Las funciones públicas devuelven ``(x_train, y_train), (x_test, y_test)`` como arreglos
``uint8`` con la disposición de Keras: imágenes ``(N, 28, 28)`` para MNIST y
``(N, 32, 32, 3)`` (canales al final) para CIFAR-10, y etiquetas ``(N,)``.

Dónde se buscan los datos, por orden:

1. el argumento ``data_dir``;
2. la variable de entorno ``BNCOURSE_DATA_DIR``;
3. una caché por usuario (``$XDG_CACHE_HOME/bncourse`` o ``~/.cache/bncourse``).

En esa carpeta se lee primero ``mnist.npz`` / ``cifar10.npz`` (claves ``x_train, y_train,
x_test, y_test``, con ``allow_pickle=False`` y validadas). Si no están, se usan los archivos
oficiales (``MNIST/raw/*.gz`` o ``cifar-10-python.tar.gz``, la misma disposición que usa
``torchvision``) y, si tampoco están, se descargan. Las sumas MD5 y SHA-256 publicadas de cada
archivo se verifican **antes** de descomprimir o deserializar nada, y los arreglos se guardan en
la caché (sin comprimir) de forma atómica. Ningún archivo del usuario se borra ni se
sobrescribe: un archivo que no pasa la validación se informa con un error que dice cuál es y
cómo resolverlo.

Módulos:

- :mod:`~bncourse.data.loaders`: los cargadores y la caché ``.npz``;
- :mod:`~bncourse.data.subsets`: subconjuntos estratificados;
- :mod:`~bncourse.data.integrity`: el error :class:`DataError` y las sumas de comprobación;
- :mod:`~bncourse.data.download`: la descarga desde las réplicas oficiales;
- :mod:`~bncourse.data.cache`: escritura atómica, temporales abandonados y cerrojos;
- :mod:`~bncourse.data.formats`: lectura de IDX y de los lotes de CIFAR-10 (deserializador
  restringido).
"""

from .integrity import DataError
from .loaders import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    MNIST_CLASSES,
    MNIST_MEAN,
    MNIST_STD,
    default_data_dir,
    load_cifar10,
    load_mnist,
)
from .subsets import load_subsets, stratified_indices, stratified_subset

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "MNIST_CLASSES",
    "MNIST_MEAN",
    "MNIST_STD",
    "DataError",
    "default_data_dir",
    "load_cifar10",
    "load_mnist",
    "load_subsets",
    "stratified_indices",
    "stratified_subset",
]
