# Sourced by the GPU scripts: puts the CUDA 13 / cuDNN 9 libraries of the machine's Python packages
# (and the usual CUDA folders) on LD_LIBRARY_PATH for onnxruntime's CUDA provider.
export LD_LIBRARY_PATH=$(python3 -c "
import glob, os, site
dirs=set()
for base in site.getsitepackages()+['/usr/local/cuda/lib64','/usr/local/nvidia/lib64']:
    for p in glob.glob(base+'/**/lib*.so*', recursive=True):
        if os.path.basename(p).startswith(('libcublas','libcudart','libcurand','libcudnn','libcufft','libnvrtc','libnvJitLink')): dirs.add(os.path.dirname(p))
print(':'.join(sorted(dirs)))"):${LD_LIBRARY_PATH:-}
