import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))   # the package
sys.path.insert(0, HERE)                    # helpers, tiny_model
