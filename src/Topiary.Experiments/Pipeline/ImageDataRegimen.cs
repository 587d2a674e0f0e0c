using Topiary.Augmentation;
using Topiary.DataSelection;

namespace Topiary.Experiments;

/// <summary>
/// The data-level regularizers of an image run: an augmentation of its training batches (<see cref="Cutout"/>) and a
/// data diet that keeps part of its training set (<see cref="DataDiet"/>), either or both.
/// </summary>
/// <param name="Augmentation">Applied to every training batch, dense and pruning phases alike; null: none.</param>
/// <param name="Diet">Prunes the training split before any training; null: every example is kept.</param>
/// <param name="Training">How the diet's scoring runs train (optimizer, batch size; their epochs are the diet's).</param>
public sealed record ImageDataRegimen(IBatchAugmentation? Augmentation, DataDiet? Diet, PruningOptions Training);
