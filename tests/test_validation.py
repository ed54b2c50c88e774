import numpy as np
import pytest
import torch

from rnncourse._validation import check_array, check_choice, check_float, check_int, check_tensor


def test_check_tensor_accepts_and_returns():
    x = torch.zeros(2, 3, 4)
    assert check_tensor(x, "x", ("B", "T", 4)) is x


@pytest.mark.parametrize(
    "value, shape, err, words",
    [
        (np.zeros((2, 3)), None, TypeError, "torch.as_tensor"),
        ([1.0], None, TypeError, "list"),
        (torch.zeros(2, 3, dtype=torch.long), None, TypeError, "floating-point"),
        (torch.zeros(2, 3), ("B", "T", 4), ValueError, "3 dimensions (B, T, 4)"),
        (torch.zeros(2, 3, 5), ("B", "T", 4), ValueError, "dimension 2 is 5, expected 4"),
        (torch.zeros(0, 3, 4), ("B", "T", 4), ValueError, "empty"),
    ],
)
def test_check_tensor_messages(value, shape, err, words):
    with pytest.raises(err, match=None) as info:
        check_tensor(value, "x", shape)
    assert words in str(info.value)


def test_check_array():
    with pytest.raises(TypeError, match="detach"):
        check_array(torch.zeros(2), "a")
    with pytest.raises(TypeError, match="floating"):
        check_array(np.zeros(2, dtype=int), "a")
    assert check_array(np.zeros((2, 3)), "a", (2, None)).shape == (2, 3)


def test_scalars():
    assert check_int(np.int64(3), "n", min_value=1) == 3
    with pytest.raises(TypeError):
        check_int(True, "n")
    with pytest.raises(TypeError):
        check_int(2.0, "n")
    with pytest.raises(ValueError, match=">= 1"):
        check_int(0, "n", min_value=1)
    with pytest.raises(ValueError, match="> 0"):
        check_float(0.0, "lr", min_value=0, strict_min=True)
    with pytest.raises(ValueError, match="NaN"):
        check_float(float("nan"), "lr")
    with pytest.raises(ValueError, match="'tanh', 'relu'"):
        check_choice("sigmoid", "nonlinearity", ("tanh", "relu"))
