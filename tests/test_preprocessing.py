import numpy as np
import pandas as pd
import pytest

from deltaprop.modelfile import load_file, save
from deltaprop.network import Network
from deltaprop.preprocessing import (
    MissingValuesError,
    Preprocessor,
    UnseenCategoryWarning,
    detect_task,
)


def _frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40.0, 10.0, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "member": rng.choice([True, False], n),
            "visits": rng.integers(0, 9, n),
            "label": rng.choice(["no", "yes"], n),
        }
    )


def test_numeric_columns_are_standardised_with_training_statistics():
    train = _frame()
    prep = Preprocessor.fit(train, "label")
    X = prep.transform(train)
    numeric = [prep.feature_names.index(c) for c in ("age", "visits")]
    np.testing.assert_allclose(X[:, numeric].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X[:, numeric].std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(prep.mean, train[["age", "visits"]].mean().to_numpy())
    other = _frame(seed=1)
    expected = (other["age"] - train["age"].mean()) / train["age"].std(ddof=0)
    np.testing.assert_allclose(prep.transform(other)[:, numeric[0]], expected)


def test_categorical_columns_are_one_hot_with_sorted_categories():
    train = _frame()
    prep = Preprocessor.fit(train, "label")
    assert prep.columns == ["age", "colour", "member", "visits"]
    assert prep.numeric == ["age", "visits"]
    assert prep.categories == {"colour": ["blue", "green", "red"], "member": [False, True]}
    assert prep.feature_names == [
        "age",
        "visits",
        "colour=blue",
        "colour=green",
        "colour=red",
        "member=False",
        "member=True",
    ]
    X = prep.transform(train)
    colour = X[:, 2:5]
    assert set(np.unique(colour)) == {0.0, 1.0}
    np.testing.assert_array_equal(colour.sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        colour.argmax(axis=1), train["colour"].map({"blue": 0, "green": 1, "red": 2})
    )
    np.testing.assert_array_equal(X[:, 6], train["member"].astype(float))


def test_column_order_does_not_matter_and_extra_columns_are_ignored():
    train = _frame()
    prep = Preprocessor.fit(train, "label")
    shuffled = train[["visits", "member", "label", "colour", "age"]].assign(extra=1.0)
    np.testing.assert_array_equal(prep.transform(shuffled), prep.transform(train))
    np.testing.assert_array_equal(prep.transform(train.drop(columns="label")), prep.transform(train))


def test_a_missing_column_is_an_error_naming_it():
    prep = Preprocessor.fit(_frame(), "label")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['colour'\]"):
        prep.transform(_frame().drop(columns="colour"))


def test_missing_values_are_refused_naming_columns_and_rows():
    train = _frame()
    train.loc[[3, 7], "age"] = np.nan
    train.loc[5, "colour"] = None
    with pytest.raises(MissingValuesError, match=r"'age' \(2\), 'colour' \(1\), in rows \[3, 5, 7\]"):
        Preprocessor.fit(train, "label")
    prep = Preprocessor.fit(_frame(), "label")
    with pytest.raises(MissingValuesError, match=r"in rows \[3, 5, 7\]"):
        prep.transform(train)


def test_impute_uses_training_median_and_most_frequent_value():
    train = _frame()
    train.loc[[0, 1], "age"] = np.nan
    train.loc[2, "colour"] = np.nan
    prep = Preprocessor.fit(train, "label", missing="impute")
    assert prep.fill["age"] == pytest.approx(np.nanmedian(train["age"]))
    assert prep.fill["colour"] == train["colour"].value_counts().idxmax()
    X = prep.transform(train)
    assert np.isfinite(X).all()
    age = prep.feature_names.index("age")
    expected = (prep.fill["age"] - prep.mean[0]) / prep.scale[0]
    assert X[0, age] == pytest.approx(expected)
    row = train.iloc[[2]].copy()
    row["colour"] = prep.fill["colour"]
    np.testing.assert_array_equal(X[2], prep.transform(row)[0])


def test_the_target_may_never_be_missing():
    train = _frame()
    train.loc[4, "label"] = None
    with pytest.raises(
        MissingValuesError, match=r"target column 'label' has 1 missing values, in rows \[4\]"
    ):
        Preprocessor.fit(train, "label", missing="impute")


def test_an_unseen_category_is_all_zeros_with_a_warning():
    prep = Preprocessor.fit(_frame(), "label")
    new = _frame(n=3).assign(colour=["purple", "red", "purple"])
    with pytest.warns(
        UnseenCategoryWarning, match=r"'colour' has 2 value\(s\) not seen at training \['purple'\]"
    ):
        X = prep.transform(new)
    colour = X[:, 2:5]
    np.testing.assert_array_equal(colour.sum(axis=1), [0.0, 1.0, 0.0])


def test_text_in_a_numeric_column_is_an_error_naming_the_row():
    prep = Preprocessor.fit(_frame(), "label")
    new = _frame(n=3).astype({"age": object})
    new.loc[1, "age"] = "forty"
    with pytest.raises(ValueError, match=r"'age' was numeric at training but holds 'forty' in rows \[1\]"):
        prep.transform(new)


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["a", "b", "a"], "classification"),
        ([True, False, True], "classification"),
        ([0, 1, 2, 1], "classification"),
        (list(range(50)), "regression"),
        ([0.5, 1.5, 2.0], "regression"),
    ],
)
def test_detect_task(values, task):
    assert detect_task(pd.Series(values, name="y"))[0] == task


def test_detect_task_respects_max_classes():
    y = pd.Series(np.arange(30) % 25, name="y")
    assert detect_task(y)[0] == "regression"
    assert detect_task(y, max_classes=25) == (
        "classification",
        "the target 'y' holds 25 distinct integers (at most 25)",
    )


def test_regression_needs_a_numeric_target():
    with pytest.raises(ValueError, match=r"'label' is not numeric .* regression needs numbers"):
        Preprocessor.fit(_frame(), "label", task="regression")


def test_classification_needs_two_classes():
    with pytest.raises(ValueError, match="single class"):
        Preprocessor.fit(_frame().assign(label="yes"), "label")


def test_identifier_columns_are_refused():
    train = _frame().assign(name=[f"person {i}" for i in range(40)])
    with pytest.raises(ValueError, match=r"'name' has 40 distinct values .* identifier"):
        Preprocessor.fit(train, "label", max_categories=30)


def test_unusable_dtypes_and_bad_arguments_are_refused():
    train = _frame().assign(when=pd.date_range("2024-01-01", periods=40))
    with pytest.raises(ValueError, match="'when' has dtype datetime64"):
        Preprocessor.fit(train, "label")
    with pytest.raises(ValueError, match="target column 'nope' is not in the data"):
        Preprocessor.fit(_frame(), "nope")
    with pytest.raises(ValueError, match="'missing' parameter must be one of"):
        Preprocessor.fit(_frame(), "label", missing="drop")
    with pytest.raises(TypeError, match="pandas DataFrame"):
        Preprocessor.fit(np.zeros((3, 2)), "label")
    with pytest.raises(ValueError, match="no feature columns"):
        Preprocessor.fit(_frame()[["label"]], "label")


def test_a_constant_column_gets_scale_one():
    prep = Preprocessor.fit(_frame().assign(age=3.0), "label")
    assert prep.scale[0] == 1.0
    np.testing.assert_array_equal(prep.transform(_frame(n=2).assign(age=3.0))[:, 0], 0.0)


def test_classification_targets_one_hot_and_sigmoid_column():
    train = _frame()
    prep = Preprocessor.fit(train, "label")
    assert prep.classes == ["no", "yes"]
    Y = prep.encode_target(train)
    np.testing.assert_array_equal(Y, np.eye(2)[(train["label"] == "yes").astype(int)])
    Y1 = prep.encode_target(train, n_outputs=1)
    np.testing.assert_array_equal(Y1[:, 0], (train["label"] == "yes").astype(float))
    np.testing.assert_array_equal(prep.decode(Y), train["label"])
    np.testing.assert_array_equal(prep.decode(Y1), train["label"])
    np.testing.assert_allclose(prep.probabilities(np.array([[0.25]])), [[0.75, 0.25]])


def test_unknown_labels_are_an_error():
    prep = Preprocessor.fit(_frame(), "label")
    with pytest.raises(ValueError, match=r"label\(s\) \['maybe'\] that the model never saw"):
        prep.encode_target(_frame(n=2).assign(label=["yes", "maybe"]))


def test_regression_target_is_standardised_and_mapped_back():
    train = _frame().assign(price=np.linspace(100.0, 500.0, 40)).drop(columns="label")
    prep = Preprocessor.fit(train, "price")
    assert prep.task == "regression" and prep.classes is None
    Y = prep.encode_target(train)
    assert Y.shape == (40, 1)
    assert Y.mean() == pytest.approx(0.0, abs=1e-12) and Y.std() == pytest.approx(1.0)
    np.testing.assert_allclose(prep.decode(Y), train["price"])


def test_stored_in_a_model_file_and_reapplied(tmp_path):
    train = _frame()
    train.loc[0, "age"] = np.nan
    prep = Preprocessor.fit(train, "label", missing="impute")
    metadata, arrays = prep.to_metadata()
    net = Network([prep.n_features, 3, 2], random_state=0)
    save(net, tmp_path / "m.npz", metadata={"preprocessing": metadata}, arrays=arrays)
    stored = load_file(tmp_path / "m.npz")
    again = Preprocessor.from_metadata(stored.metadata["preprocessing"], stored.arrays)
    assert again.to_metadata()[0] == metadata
    for name, array in again.to_metadata()[1].items():
        np.testing.assert_array_equal(array, arrays[name])
    new = _frame(seed=3)
    new.loc[2, "age"] = np.nan
    np.testing.assert_array_equal(again.transform(new), prep.transform(new))
    np.testing.assert_array_equal(again.encode_target(new), prep.encode_target(new))


def test_from_metadata_refuses_other_versions_and_damage():
    metadata, arrays = Preprocessor.fit(_frame(), "label").to_metadata()
    with pytest.raises(ValueError, match="version 2; this deltaprop reads 1"):
        Preprocessor.from_metadata({**metadata, "version": 2}, arrays)
    with pytest.raises(ValueError, match="incomplete"):
        Preprocessor.from_metadata({k: v for k, v in metadata.items() if k != "columns"}, arrays)
    with pytest.raises(ValueError, match="inconsistent"):
        Preprocessor.from_metadata({**metadata, "numeric": ["age"]}, arrays)


def test_summary_names_what_was_done():
    assert Preprocessor.fit(_frame(), "label").summary() == (
        "2 numeric column(s) standardised, 2 categorical column(s) one-hot encoded; 4 columns -> 7 inputs"
    )
